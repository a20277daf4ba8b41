#!/usr/bin/env bash
# plot.sh - draws bench/results/latest.json as one PNG (gnuplot): targets met
# or missed, latency percentiles, throughput against the raw limits and the
# reference queues (with muster's ratio to each), memory.
# usage: bench/plot.sh RESULTS.json OUT.png
set -euo pipefail

in=${1:?usage: plot.sh RESULTS.json OUT.png}
out=${2:?usage: plot.sh RESULTS.json OUT.png}
tmp=$(mktemp -d /tmp/muster-plot-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Targets: score = measured/target, turned so that >= 1 means met.
jq -r '
  def fmt: if . == null then "n/a" elif . >= 1000000 then "\(. / 100000 | round / 10)M"
           elif . >= 10000 then "\(. / 1000 | round)k" elif . >= 1000 then "\(. / 100 | round / 10)k"
           elif . >= 10 then "\(. | round)" else "\(. * 100 | round / 100)" end;
  [.results[] | .scenario as $s | (.targets // [])[]
   | {s: $s, what, op, target, unit, measured, met, score, applies: (.applies // true),
      at_least: (.at_least // false)}]
  | to_entries[]
  | .value as $v
  | [.key,
     ([$v.score, 0.0011] | max | [., 20] | min),
     (if $v.met then 1 elif $v.applies then 0 else 2 end),
     "\($v.s). \($v.what)\(if $v.applies then "" else " (target is for real Kafka)" end)",
     "\(if $v.at_least then "at least " else "" end)\($v.measured | fmt) \($v.unit), target \($v.op) \($v.target | fmt)"]
  | @tsv' "$in" >"$tmp/targets.tsv"

jq -r '
  .results[] | select(.scenario == 3) | .rates[]
  | [.rate,
     (.recorded_ms.p50 // "?"), (.recorded_ms.p99 // "?"),
     (.first_step_started_ms.p50 // "?"), (.first_step_started_ms.p99 // "?"), (.first_step_started_ms.p999 // "?"),
     (.last_step_done_ms.p50 // "?"), (.last_step_done_ms.p99 // "?"), (.last_step_done_ms.p999 // "?"),
     "\(.completed) of \(.alerts) done"]
  | @tsv' "$in" >"$tmp/latency.tsv"
kafka3=$(jq -r '[.results[] | select(.scenario == 3) | .kafka][0] // "?"' "$in")

# Throughput: each measured figure next to what it is measured against.
jq -r '
  def r(s): [.results[] | select(.scenario == s)][0];
  def x(a; b): if a != null and b != null and b > 0 then " (\(a / b * 100 | round / 100)x)" else "" end;
  [ (r(1) | select(.) | ["no-op tasks (1)", .tasks_per_s, .raw_stream_tasks_per_s,
                         "raw stream queue\(x(.tasks_per_s; .raw_stream_tasks_per_s))"]),
    (r(1) | select(.) | ["no-op tasks (1)", .tasks_per_s, .bullmq_tasks_per_s,
                         "BullMQ\(x(.tasks_per_s; .bullmq_tasks_per_s))"]),
    (r(1) | select(.) | ["no-op tasks (1)", .tasks_per_s, .raw_redis_tasks_per_s, "raw Redis, same mix"]),
    (r(1) | select(.) | ["no-op tasks (1)", .tasks_per_s, .redis_bound_tasks_per_s, "Redis busy on scripts"]),
    (r(1) | select(.) | ["no-op tasks (1)", .tasks_per_s, 100000, "target"]),
    (r(1) | select(.) | ["no-op tasks, concurrency 256 (1)", .concurrency_256.tasks_per_s, .concurrency_256.redis_bound_tasks_per_s, "Redis busy on scripts"]),
    (r(2) | select(.) | ["alerts (2)", (.steady_alerts_per_s // .alerts_per_s), 20000, "target"]),
    (r(4) | select(.) | ["HTTP, 1 ms server (4)", .server_1ms.steps_per_s, 20000, "target"]),
    (r(4) | select(.) | ["HTTP, 50 ms server (4)", .server_50ms.steps_per_s, .server_50ms.in_flight_max * 20, "in flight / 50 ms"]),
    (r(5) | select(.) | ["exec steps (5)", .steps_per_s, .raw_spawn_per_s, "raw posix_spawn"]) ]
  | .[] | map(if . == null then "?" else . end) | @tsv' "$in" |
  awk -F'\t' '{ print NR - 1 "\t" $0 }' >"$tmp/tput.tsv"

jq -r '
  .results[] | select(.scenario == 6)
  | ( ["worker idle", (.idle.worker_rss_kb / 1024)],
      ["dispatcher idle", (.idle.dispatcher_rss_kb / 1024)],
      (.under_load[] | ["\(.process) \(.scenario | sub("@"; " at ") | sub("^s4-"; "4 "))", (.rss_peak_kb / 1024)]) )
  | @tsv' "$in" >"$tmp/mem.tsv"
per_inc=$(jq -r '[.results[] | select(.scenario == 6) | .redis_bytes_per_open_incident][0] // "?"' "$in")
updated=$(jq -r '.updated // "?"' "$in")
machine=$(jq -r '"\(.machine.cpus // "?") CPUs, \(.machine.cpu // "?"), Redis \(.machine.redis // "?"), load \(.machine.load_before // "?") before the run"' "$in")

# A panel without data says so instead of failing.
empty() {
  printf 'unset key\nunset xtics\nunset ytics\nset label 9 "%s" at graph 0.5, graph 0.5 center font ",12"\n' "$1"
  printf 'plot [0:1] [0:1] NaN notitle\nunset label 9\nset xtics\nset ytics\n'
}

panel_targets() {
  local n
  n=$(wc -l <"$tmp/targets.tsv")
  echo 'set title "Targets: measured as a share of the target (log scale; 100% and right is met)" font ",11"'
  [ "$n" -gt 0 ] || { empty "no targets in the results"; return; }
  cat <<GP
set logscale x
set xrange [0.001:20]
set yrange [$n - 0.4:-0.6]
unset ytics
set xtics ("0.1%%" 0.001, "1%%" 0.01, "10%%" 0.1, "100%%" 1, "1000%%" 10)
set grid xtics
unset key
set style fill solid 0.8 noborder
set arrow 1 from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "#333333"
set label 1 "green: met   red: missed   grey: does not apply to this run" at graph 0.98, graph 0.03 right font ",9"
plot "$tmp/targets.tsv" using 2:1:(0.001):2:(\$1 - 0.32):(\$1 + 0.32):(\$3 == 1 ? 0x2ca02c : \$3 == 2 ? 0xaaaaaa : 0xd62728) \\
       with boxxyerror lc rgb variable, \\
     "" using (0.0012):(\$1 - 0.16):4 with labels left font ",9", \\
     "" using (0.0012):(\$1 + 0.18):5 with labels left font ",9"
unset arrow 1
unset label 1
unset logscale x
unset grid
set xrange [*:*]
set yrange [*:*]
set xtics
set ytics
GP
}

panel_latency() {
  echo "set title \"3. Latency from the alert's due time, ms ($kafka3 Kafka; when not all finished: at least)\" font \",11\""
  [ "$(wc -l <"$tmp/latency.tsv")" -gt 0 ] || { empty "scenario 3 not in the results"; return; }
  cat <<GP
set logscale y
set yrange [0.5:300000]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 noborder
set xtics scale 0 font ",9"
set key top left font ",8" opaque
set grid ytics
set arrow 3 from graph 0, first 10 to graph 1, first 10 nohead dt 2 lc rgb "#d62728"
set label 3 "10 ms" at graph 1, first 10 offset -4, 0.6 tc rgb "#d62728" font ",9"
plot "$tmp/latency.tsv" using 2:xtic(sprintf("%d alerts/s\n%s", \$1, stringcolumn(10))) title "recorded p50" lc rgb "#a1d99b", \\
     "" using 3 title "recorded p99" lc rgb "#31a354", \\
     "" using 4 title "first step started p50" lc rgb "#9ecae1", \\
     "" using 5 title "first step started p99" lc rgb "#4292c6", \\
     "" using 6 title "first step started p99.9" lc rgb "#08519c", \\
     "" using 7 title "last step done p50" lc rgb "#fdae6b", \\
     "" using 8 title "last step done p99" lc rgb "#f16913", \\
     "" using 9 title "last step done p99.9" lc rgb "#a63603"
unset arrow 3
unset label 3
unset logscale y
unset grid
set yrange [*:*]
set xtics
GP
}

panel_throughput() {
  local n
  n=$(wc -l <"$tmp/tput.tsv")
  echo 'set title "Throughput per second (log scale): measured (blue) against a reference (grey)" font ",11"'
  [ "$n" -gt 0 ] || { empty "no throughput in the results"; return; }
  cat <<GP
set style fill solid 0.8 noborder
set boxwidth 0.4
set logscale y
set yrange [10:10000000]
set xrange [-0.6:$n - 0.4]
set xtics rotate by 20 right font ",9" scale 0
unset key
set grid ytics
plot "$tmp/tput.tsv" using (\$1 - 0.21):3:xtic(2) with boxes lc rgb "#4292c6", \\
     "" using (\$1 + 0.21):4 with boxes lc rgb "#bbbbbb", \\
     "" using (\$1 + 0.21):(\$4 * 1.25):5 with labels rotate by 90 left font ",8", \\
     "" using (\$1 - 0.21):(\$3 * 1.25):(sprintf("%.0f", \$3)) with labels rotate by 90 left font ",9"
unset logscale y
unset grid
set xrange [*:*]
set yrange [*:*]
set xtics norotate
GP
}

panel_memory() {
  local n
  n=$(wc -l <"$tmp/mem.tsv")
  echo "set title \"6. Resident memory, MB, idle and peak per scenario (Redis: $per_inc bytes per open incident)\" font \",11\""
  [ "$n" -gt 0 ] || { empty "scenario 6 not in the results"; return; }
  cat <<GP
set style fill solid 0.8 noborder
set boxwidth 0.6
set yrange [0:*]
set xrange [-0.6:$n - 0.4]
set xtics rotate by 40 right font ",8" scale 0
unset key
set grid ytics
set arrow 2 from graph 0, first 16 to graph 1, first 16 nohead dt 2 lc rgb "#d62728"
set label 2 "worker idle target: 16 MB" at graph 0.02, first 16 offset 0, 0.6 tc rgb "#d62728" font ",9"
plot "$tmp/mem.tsv" using 0:2:xtic(1) with boxes lc rgb "#74c476", \\
     "" using 0:2:(sprintf("%.0f", \$2)) with labels offset 0, 0.7 font ",8"
unset arrow 2
unset label 2
GP
}

# Between panels: nothing of the last one leaks into the next.
reset='unset xtics; unset ytics; set xtics; set ytics; unset key; unset grid; unset logscale; unset label; unset arrow; set autoscale'
{
  cat <<GP
set terminal pngcairo noenhanced size 1600,1150 font "DejaVu Sans,10"
set output "$out"
set datafile separator "\t"
set datafile missing "?"
set multiplot title "muster benchmark, $updated: $machine" font ",12"
set origin 0, 0.5
set size 0.5, 0.47
GP
  panel_targets
  printf 'set origin 0.5, 0.5\nset size 0.5, 0.47\n%s\n' "$reset"
  panel_latency
  printf 'set origin 0, 0.02\nset size 0.5, 0.47\n%s\n' "$reset"
  panel_throughput
  printf 'set origin 0.5, 0.02\nset size 0.5, 0.47\n%s\n' "$reset"
  panel_memory
  echo 'unset multiplot'
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
