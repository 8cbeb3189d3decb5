#!/usr/bin/env bash
# Builds examples/classify against the mnv3 artifacts in the local Maven repository (./mvnw install
# first), as a project outside this one would, and runs it on one image: Small, random weights,
# Backends.best(). ./test runs it after the main build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ex=examples/classify
./mvnw -B -q -f "$ex/pom.xml" compile
image=java/core/src/test/resources/dev/mnv3/core/image/ImageDecoderFuzzTestInputs/decodesOrNamesTheFile/rgb.png
out=$("${JAVA_HOME:+$JAVA_HOME/bin/}java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -cp "$ex/target/classes:$(cat "$ex/target/classpath.txt")" example.ClassifyOne "$image")
echo "$out"
[[ "$out" =~ ^"$image on "[a-z-]+": class "[0-9]+" (" ]] || { echo "examples: unexpected output from ClassifyOne" >&2; exit 1; }
