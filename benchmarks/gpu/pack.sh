#!/usr/bin/env bash
# Builds, here, everything the GPU machine needs for benchmarks/gpu/device-check.sh into .device/
# (git-ignored; at most 60 MiB): the CLI jar, the library and test jars (the cuda jar holds the kernels), the
# JUnit console launcher, and a jlink-ed JDK 25 runtime (the GPU machine may have no Java).
# The repository itself (tools/reference, benchmarks/gpu) travels beside it.
#
#   benchmarks/gpu/pack.sh            # then carry .device/ with the working tree to the GPU machine
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KIT=$ROOT/.device
LIMIT_MIB=60
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JUNIT_VERSION=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -1)

say() { printf '[pack] %s\n' "$*"; }
die() { printf '[pack] FAILED: %s\n' "$*" >&2; exit 1; }

"$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25' || die "JAVA_HOME=$JAVA_HOME is not a JDK 25"
command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || die "nvcc not found: the kit would carry no kernels"

# the throughput table is the check's last word on performance: its script's tests run here, not after ten minutes on a GPU
say "testing benchmarks/gpu/throughput_table.py"
python3 -m unittest discover -q -s benchmarks/gpu -p 'test_*.py' || die "benchmarks/gpu/test_throughput_table.py failed"

say "building (tests skipped; they ran in CI or run on the GPU)"
./mvnw -B -q package -DskipTests

rm -rf "$KIT"
mkdir -p "$KIT/lib" "$KIT/test"
version=$(sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' pom.xml)
# the CLI without serve: its Jetty, gRPC and protobuf would not fit the kit, and the check does not serve
kit_cli=java/cli/target/mnv3-cli-$version-kit.jar
[ -f "$kit_cli" ] || die "$kit_cli is missing (the shaded CLI without serve)"
cp "$kit_cli" "$KIT/mnv3.jar"
for m in core cpu cuda; do
    cp "java/$m/target/mnv3-$m-$version.jar" "$KIT/lib/"
done
cp "java/core/target/mnv3-core-$version-tests.jar" "java/cuda/target/mnv3-cuda-$version-tests.jar" "$KIT/test/"
# the kernels travel inside the cuda jar, which is what runs; a jar without them would make a useless kit
"$JAVA_HOME/bin/jar" tf "$KIT/lib/mnv3-cuda-$version.jar" | grep -qx 'dev/mnv3/cuda/mnv3_kernels.fatbin' ||
    die "the cuda jar holds no kernels (dev/mnv3/cuda/mnv3_kernels.fatbin): was nvcc found?"

say "JUnit console launcher $JUNIT_VERSION"
./mvnw -B -q -N dependency:copy \
    -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION" -DoutputDirectory="$KIT/lib"

# Only the modules the jars use, found by jdeps; jdk.zipfs and jdk.unsupported are loaded reflectively.
# mnv3-core is a named module that requires jackson-core, which the kit carries inside mnv3.jar:
# jdeps needs it as a module of its own, so it gets a copy outside the kit.
jackson_version=$(sed -n 's:.*<jackson.version>\(.*\)</jackson.version>.*:\1:p' pom.xml | head -1)
analysis=$(mktemp -d)
trap 'rm -rf "$analysis"' EXIT
./mvnw -B -q -N dependency:copy \
    -Dartifact="com.fasterxml.jackson.core:jackson-core:$jackson_version" -DoutputDirectory="$analysis"
modules=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 \
    --module-path "$analysis" "$KIT/mnv3.jar" "$KIT"/lib/*.jar "$KIT"/test/*.jar | tail -1)
# (before that last line jdeps warns of the packages mnv3.jar shares with the module jars beside it)
# java.desktop only decodes images for `mnv3 classify`, which the check does not run: leaving it out saves 15 MiB.
modules="$(echo "$modules" | tr ',' '\n' | grep -vx java.desktop | paste -sd,),jdk.zipfs,jdk.unsupported"
say "jlink: $modules"
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-9 --output "$KIT/jdk"
"$KIT/jdk/bin/java" -version 2>&1 | head -1

# the kit runs tests as the GPU check will (its JDK, its launcher, its jars) on tests that need no GPU:
# a kit that cannot shows here, not after minutes on a rented GPU
say "smoke test: the kit runs DriverVersionTest and CaptureSafetyTest"
smoke=$("$KIT/jdk/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
    -jar "$(ls "$KIT"/lib/junit-platform-console-standalone-*.jar)" execute \
    --class-path "$(ls "$KIT"/lib/mnv3-*.jar "$KIT"/test/*.jar | paste -sd:)" --select-class dev.mnv3.cuda.DriverVersionTest \
    --select-class dev.mnv3.cuda.CaptureSafetyTest --details=summary --disable-banner 2>&1) &&
    grep -q " 0 tests failed" <<< "$smoke" && ! grep -q " 0 tests successful" <<< "$smoke" ||
    { echo "$smoke" >&2; die "the kit cannot run the tests"; }

{
    echo "mnv3 GPU kit, built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
    echo "jdk: $("$KIT/jdk/bin/java" -version 2>&1 | head -1) modules $modules"
    echo "nvcc: $(nvcc --version 2>/dev/null | tail -1)"
    (cd "$KIT" && find . -type f -not -path './jdk/*' -printf '%s %p\n' | sort -k2)
} > "$KIT/MANIFEST.txt"

bytes=$(du -sb "$KIT" | cut -f1)
mib=$(( (bytes + 1048575) / 1048576 ))
say "$KIT: $mib MiB ($(du -sh "$KIT/jdk" | cut -f1) of it the JDK)"
[ "$mib" -le "$LIMIT_MIB" ] || die "the kit is $mib MiB, over the $LIMIT_MIB MiB limit"
say "done; on the GPU machine run benchmarks/gpu/device-check.sh from the repository root"
