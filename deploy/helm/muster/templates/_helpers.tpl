{{/* _helpers.tpl - names, labels, and the settings-to-environment rule */}}

{{- define "muster.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Leaves room for the "-dispatcher" suffix within 63 characters. */}}
{{- define "muster.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "muster.dispatcher" -}}{{ include "muster.fullname" . }}-dispatcher{{- end -}}
{{- define "muster.worker" -}}{{ include "muster.fullname" . }}-worker{{- end -}}
{{- define "muster.metrics" -}}{{ include "muster.fullname" . }}-metrics{{- end -}}
{{- define "muster.api" -}}{{ include "muster.fullname" . }}-api{{- end -}}
{{- define "muster.apiTokensSecret" -}}
{{- .Values.api.tokens.existingSecret | default (printf "%s-api-tokens" (include "muster.fullname" .)) -}}
{{- end -}}

{{- define "muster.workflowsConfigMap" -}}
{{- .Values.workflows.existingConfigMap | default (printf "%s-workflows" (include "muster.fullname" .)) -}}
{{- end -}}

{{- define "muster.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "muster.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "muster.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "muster.selectorLabels" -}}
app.kubernetes.io/name: {{ include "muster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "muster.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "muster.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: muster
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A setting's value as text: Helm reads numbers as floats, and 1048576
     would otherwise print as 1.048576e+06. */}}
{{- define "muster.scalar" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* The settings one daemon gets, as env entries. Arguments: root (the
     chart's context), program ("D", "W" or "M": the dispatcher, the worker
     or muster-metrics), base (the settings the chart derives from its
     values, which settings cannot override). Then .Values.settings, where
     this program reads them, then dispatcher.settings, worker.settings or
     metrics.settings. The table of
     keys is files/settings.yaml, a copy of common/config.c's table; an
     unknown key, a credential, or a key the program does not read stops
     the render. The names follow the code's rule (common/config.c
     env_name): MUSTER_ + key, dots as underscores, upper case. Sorted, so
     a render is stable. */}}
{{- define "muster.settingsEnv" -}}
{{- $root := .root -}}
{{- $program := .program -}}
{{- $table := $root.Files.Get "files/settings.yaml" | fromYaml -}}
{{- $component := get (dict "D" "dispatcher" "W" "worker" "M" "metrics" "A" "api") $program -}}
{{- $who := get (dict "D" "dispatcher" "W" "worker" "M" "metrics aggregator" "A" "API") $program -}}
{{- $credentials := list "kafka.sasl_password" "redis.password" "intake.token" -}}
{{- $out := deepCopy .base -}}
{{- range $pair := list (list "settings" $root.Values.settings) (list (printf "%s.settings" $component) (index $root.Values $component).settings) -}}
{{- $where := index $pair 0 -}}
{{- range $k, $v := index $pair 1 -}}
{{- if hasKey $.base $k -}}
{{- fail (printf "%s: %q is set by the chart from its own values (see values.yaml), so probes, ports and shutdown stay consistent" $where $k) -}}
{{- end -}}
{{- if not (hasKey $table $k) -}}
{{- fail (printf "%s: unknown muster setting %q (docs/configuration.md lists them)" $where $k) -}}
{{- end -}}
{{- if has $k $credentials -}}
{{- fail (printf "%s: %q is a credential; give it through a Secret (redis.auth, kafka.sasl, dispatcher.intake.tokenSecret)" $where $k) -}}
{{- end -}}
{{- if contains $program (get $table $k) -}}
{{- $_ := set $out $k $v -}}
{{- else if ne $where "settings" -}}
{{- fail (printf "%s: the %s does not read %q" $where $who $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $k := keys $out | sortAlpha }}
- name: {{ printf "MUSTER_%s" ($k | replace "." "_" | upper) }}
  value: {{ include "muster.scalar" (get $out $k) | quote }}
{{- end -}}
{{- end -}}

{{/* Settings every daemon reads, from the chart's values. */}}
{{- define "muster.commonSettings" -}}
{{- $v := .Values -}}
{{- $s := dict
  "kafka.brokers" $v.kafka.brokers
  "kafka.security_protocol" $v.kafka.securityProtocol
  "redis.host" $v.redis.host
  "redis.port" $v.redis.port
  "redis.prefix" $v.redis.prefix
  "log.level" $v.logLevel
  "status.address" "0.0.0.0"
  "status.port" $v.statusPort -}}
{{- if $v.kafka.sasl.mechanism }}{{ $_ := set $s "kafka.sasl_mechanism" $v.kafka.sasl.mechanism }}{{ end -}}
{{- if $v.kafka.tls.existingSecret -}}
{{- if $v.kafka.tls.caKey }}{{ $_ := set $s "kafka.ssl_ca" (printf "/etc/muster/kafka-tls/%s" $v.kafka.tls.caKey) }}{{ end -}}
{{- if $v.kafka.tls.certKey }}{{ $_ := set $s "kafka.ssl_cert" (printf "/etc/muster/kafka-tls/%s" $v.kafka.tls.certKey) }}{{ end -}}
{{- if $v.kafka.tls.keyKey }}{{ $_ := set $s "kafka.ssl_key" (printf "/etc/muster/kafka-tls/%s" $v.kafka.tls.keyKey) }}{{ end -}}
{{- end -}}
{{- if $v.redis.auth.user }}{{ $_ := set $s "redis.user" $v.redis.auth.user }}{{ end -}}
{{- toYaml $s -}}
{{- end -}}

{{/* Credentials, from Secrets only: they never appear in the manifests. */}}
{{- define "muster.secretEnv" -}}
{{- $v := .Values -}}
{{- if $v.redis.auth.existingSecret }}
- name: MUSTER_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.auth.existingSecret }}
      key: {{ $v.redis.auth.passwordKey }}
{{- if $v.redis.auth.userKey }}
- name: MUSTER_REDIS_USER
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.auth.existingSecret }}
      key: {{ $v.redis.auth.userKey }}
{{- end }}
{{- end }}
{{- if $v.kafka.sasl.mechanism }}
- name: MUSTER_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ required "kafka.sasl.existingSecret is required with kafka.sasl.mechanism" $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: MUSTER_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{- define "muster.kafkaTlsVolume" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "muster.kafkaTlsMount" -}}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/muster/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The status endpoints' probes: liveness on /healthz (the process
     answers), readiness on /readyz (Redis reachable, Kafka brokers up,
     workflows loaded). */}}
{{- define "muster.probes" -}}
{{- $p := .Values.probes -}}
startupProbe:
  httpGet:
    path: /healthz
    port: status
  periodSeconds: 2
  failureThreshold: {{ $p.startupFailureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: status
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: status
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{- define "muster.podScheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* A ServiceMonitor's endpoint on the status port; takes interval,
     scrapeTimeout and metricRelabelings. */}}
{{- define "muster.scrapeEndpoint" -}}
- port: status
  path: /metrics
  interval: {{ .interval }}
  scrapeTimeout: {{ .scrapeTimeout }}
  {{- with .metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
