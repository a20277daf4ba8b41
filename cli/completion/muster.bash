# muster.bash - bash completion of muster: its commands and their options.
# Installed as share/bash-completion/completions/muster; needs nothing but
# bash (bash-completion loads it on demand, or source it yourself).

_muster() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local commands="up status incident wait ack resolve note done dead replay audit token send-alert validate report config"
  local i cmd="" sub=""
  COMPREPLY=()

  # The command is the first word that is not a global option or its value.
  for ((i = 1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      -c | --config | -s | --set) ((i++)) ;;
      -*) ;;
      *)
        if [ -z "$cmd" ]; then cmd=${COMP_WORDS[i]}; elif [ -z "$sub" ]; then sub=${COMP_WORDS[i]}; fi
        ;;
    esac
  done

  # Values of options.
  case $prev in
    -c | --config | --env-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --workflows | --state-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --only) COMPREPLY=($(compgen -W "kafka" -- "$cur")); return ;;
    -s | --set)
      local keys
      keys=$(command muster config --conf 2>/dev/null | sed -n 's/^#\([a-z][a-z_.]*\) =.*/\1=/p')
      compopt -o nospace 2>/dev/null
      COMPREPLY=($(compgen -W "$keys" -- "$cur"))
      return
      ;;
    --by) [ "$cmd" = report ] && COMPREPLY=($(compgen -W "week workflow service severity" -- "$cur")); return ;;
    --until) return ;;
    --workers | --incidents | --resolved | --timeout | --limit | --note | --kafka | \
      --incident | --workflow | --since | --name) return ;;
    --scope) COMPREPLY=($(compgen -W "incidents:read incidents:ack incidents:write tasks:replay admin" -- "$cur")); return ;;
    --file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac

  if [ -z "$cmd" ]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "-c --config -s --set -h --help -V --version" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return
  fi

  local opts="" words=""
  case $cmd in
    up) opts="--examples --workers --workflows --state-dir --keep --env-file --kafka --only" ;;
    status) opts="--json" ;;
    report) opts="--since --until --by --json --csv" ;;
    incident)
      case $sub in
        "") words="list show" ;;
        show) opts="--json"; words="latest" ;;
        *) opts="--limit --json" ;;
      esac
      ;;
    wait) opts="--incidents --resolved --timeout" ;;
    ack | resolve | note) opts="--by"; words="latest" ;;
    audit) opts="--since --limit --json" ;;
    token)
      case $sub in
        "") words="create list" ;;
        create) opts="--name --scope --file" ;;
        *) opts="--file" ;;
      esac
      ;;
    done) opts="--by --note" ;;
    dead) [ -z "$sub" ] && words="list show" || opts="--json" ;;
    replay) opts="--incident --workflow --all --dry-run --force --by" ;;
    send-alert | validate) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    config) opts="--markdown --conf" ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _muster muster
