#!/usr/bin/env bash
# Builds examples/classify against the mnv3 artifacts in the local Maven repository (./mvnw install
# first), as a project outside this one would, and runs it on one image: Small, random weights
# (written by RandomCheckpoint.java: the repository ships no trained checkpoint), the fastest
# backend here. ./test runs it after the main build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# JDK 25 found as ./mnv3 and ./test find it, whatever java the shell's PATH gives (Maven, too, uses it)
source tools/env.sh
if ! JAVA_HOME="$(mnv3_find_java25)"; then
    echo "examples: needs JDK 25 or newer; set JAVA_HOME to it (looked in \$JAVA_HOME and /usr/lib/jvm)" >&2
    exit 1
fi
export JAVA_HOME
ex=examples/classify
./mvnw -B -q -f "$ex/pom.xml" compile
image=java/core/src/test/resources/dev/mnv3/core/image/ImageDecoderFuzzTestInputs/decodesOrNamesTheFile/rgb.png
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
deps="$(cat "$ex/target/classpath.txt")"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
weights="$scratch/small.safetensors"
"$java" --enable-native-access=ALL-UNNAMED -cp "$deps" examples/RandomCheckpoint.java "$weights"
# the class path: every jar an unnamed module, the backends found through META-INF/services
out=$("$java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "$ex/target/classes:$deps" example.ClassifyOne "$image" "$weights")
echo "class path:  $out"
[[ "$out" =~ ^"$image on "[a-z-]+": class "[0-9]+" (" ]] || { echo "examples: unexpected output from ClassifyOne" >&2; exit 1; }
# the module path: mnv3's jars are named modules (dev.mnv3.api, dev.mnv3.core, dev.mnv3.cpu), the
# backend bound through core's `uses` and cpu's `provides`, not named on the command line; the
# example stays on the class path, as most applications are
mod=$("$java" --enable-native-access=dev.mnv3.core --add-modules dev.mnv3.api,jdk.incubator.vector \
    --module-path "$deps" -cp "$ex/target/classes" example.ClassifyOne "$image" "$weights")
echo "module path: $mod"
[[ "$mod" == "$out" ]] || { echo "examples: the module path gave another answer than the class path" >&2; exit 1; }
