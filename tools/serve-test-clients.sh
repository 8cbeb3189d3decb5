#!/usr/bin/env bash
# Installs what the serve tests drive, clients nobody here wrote: curl and hey (Debian) for REST and
# load, openssl for the TLS test's certificate, and @grpc/grpc-js + @grpc/proto-loader (npm, pinned by
# java/serve/src/test/node/package-lock.json) for gRPC. Installs only what is missing; without root or network it says what is missing and
# returns 1 (the tests then fail naming this script).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node_project=java/serve/src/test/node
status=0

missing=()
for tool in curl hey node npm openssl; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    packages=()
    for tool in "${missing[@]}"; do
        case "$tool" in
            node|npm) packages+=(nodejs npm) ;;
            *) packages+=("$tool") ;;
        esac
    done
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo -n"
    echo "serve tests: installing ${packages[*]} (apt-get) ..." >&2
    if ! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
           $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >&2; }; then
        echo "serve tests: could not install ${packages[*]}; install them to run the serve tests" >&2
        status=1
    fi
fi

if [[ ! -d "$node_project/node_modules/@grpc/grpc-js" || ! -d "$node_project/node_modules/@grpc/proto-loader" ]]; then
    if command -v npm >/dev/null; then
        echo "serve tests: installing the Node gRPC client (npm ci in $node_project) ..." >&2
        npm ci --prefix "$node_project" --no-audit --no-fund --loglevel=error >&2 || status=1
    else
        status=1
    fi
fi
exit $status
