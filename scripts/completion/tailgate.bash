# bash completion for tailgate: commands, each command's options, and the scenario and suite
# names the library holds (`tailgate scenarios --names`, so $TAILGATE_SCENARIOS counts).
# Installed as share/bash-completion/completions/tailgate; or `source` this file.

_tailgate_words()
{
    # words split on blanks and newlines; none of ours holds either
    local IFS=$' \t\n'
    COMPREPLY+=($(compgen -W "$1" -- "$2"))
}

_tailgate_files()
{
    # $2: a glob the file names must match ('' any); folders always, to walk into
    local IFS=$'\n' f
    for f in $(compgen -f -- "$1"); do
        if [ -d "$f" ]; then
            COMPREPLY+=("$f/")
        elif [ -z "$2" ] || [[ $f == $2 ]]; then
            COMPREPLY+=("$f")
        fi
    done
    compopt -o nospace -o filenames 2>/dev/null
}

_tailgate_dirs()
{
    local IFS=$'\n'
    COMPREPLY+=($(compgen -d -S / -- "$1"))
    compopt -o nospace -o filenames 2>/dev/null
}

_tailgate()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local cmd=${COMP_WORDS[1]} opts
    local tg=${COMP_WORDS[0]}
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        _tailgate_words "run scenarios mock profiles chaos report compare merge version help --help
                         --version" "$cur"
        return 0
    fi
    if [ "$cmd" = help ]; then
        [ "$COMP_CWORD" -eq 2 ] && _tailgate_words "run scenarios mock profiles chaos report
                                                    compare merge version" "$cur"
        return 0
    fi
    if [ "$cmd" = chaos ]; then
        if [ "$COMP_CWORD" -eq 2 ]; then
            _tailgate_words "proxy client --help" "$cur"
            return 0
        fi
        cmd="chaos-${COMP_WORDS[2]}"
    fi
    case $cmd in
    run)
        opts="--gateway --gateway-url --gateway-cmd --style --direct --mock-url --out --seed
              --floor --via-proxies --mock-tls --shard --workers --max-mock-lag-ms --help"
        case $prev in
        --gateway) _tailgate_files "$cur" '*.json'; return 0 ;;
        --style) _tailgate_words "openai-chat responses anthropic gemini completions ollama azure custom" "$cur"; return 0 ;;
        --out | --floor) _tailgate_dirs "$cur"; return 0 ;;
        --workers) _tailgate_words "auto" "$cur"; return 0 ;;
        --gateway-url | --gateway-cmd | --mock-url | --seed | --max-mock-lag-ms) return 0 ;;
        esac
        ;;
    scenarios) opts="--names --help" ;;
    mock)
        opts="--port --host --port-file --profile --schedule --seed --ledger-file --ledger-max
              --admin-token --admin-any --admin-host --max-body --sndbuf --max-burst --max-pending
              --header-timeout --body-timeout --idle-timeout --tls --cert --key --ca-file --no-h2 --help"
        case $prev in
        --profile) _tailgate_words "$("$tg" profiles 2>/dev/null | cut -d' ' -f1)" "$cur"
            return 0 ;;
        --port-file | --ledger-file | --cert | --key | --ca-file) _tailgate_files "$cur" ''
            return 0 ;;
        --port | --host | --schedule | --seed | --ledger-max | --admin-token | --admin-host | \
            --max-body | --sndbuf | --max-burst | --max-pending | --*-timeout) return 0 ;;
        esac
        ;;
    profiles) opts="--help" ;;
    chaos-proxy)
        opts="--listen --upstream --api --name --toxic --seed --port-file --api-port-file
              --admin-token --admin-host --header-timeout --body-timeout --idle-timeout --help"
        case $prev in
        --port-file | --api-port-file) _tailgate_files "$cur" ''; return 0 ;;
        --listen | --upstream | --api | --name | --toxic | --seed | --admin-*) return 0 ;;
        --*-timeout) return 0 ;;
        esac
        ;;
    chaos-client)
        opts="--url --style --path --model --prompt --max-tokens --header --method
              --body-template --user --requests --concurrency --seed --id-prefix --timeout-ms
              --rcvbuf --cancel-url --cancel-method --cancel-body --proxy-api --proxy-name --out
              --http --users-per-connection --help"
        case $prev in
        --style) _tailgate_words "openai-chat responses anthropic gemini completions ollama azure custom" "$cur"; return 0 ;;
        --http) _tailgate_words "1.1 2 h2c" "$cur"; return 0 ;;
        --user) _tailgate_words "action=complete action=tab_close action=half_close action=reset
                action=network_drop action=background action=stop_button action=supersede" "$cur"
            return 0 ;;
        --out) _tailgate_files "$cur" ''; return 0 ;;
        --url | --path | --model | --prompt | --max-tokens | --header | --method | \
            --body-template | --requests | --concurrency | --seed | --id-prefix | \
            --timeout-ms | --rcvbuf | --cancel-* | --proxy-*) return 0 ;;
        esac
        ;;
    report)
        opts="--floor --help"
        ;;
    compare | merge)
        opts="--out --help"
        ;;
    *) return 0 ;;
    esac
    if [[ $cur == -* ]]; then
        _tailgate_words "$opts" "$cur"
        return 0
    fi
    case $cmd in
    run | scenarios)
        _tailgate_words "$("$tg" scenarios --names 2>/dev/null)" "$cur"
        _tailgate_files "$cur" '*.json'
        ;;
    report | compare | merge) _tailgate_dirs "$cur" ;;
    esac
    return 0
}

complete -F _tailgate tailgate
