"""What the serve benchmarks share: starting `mnv3 serve` (this tree's ./mnv3, or a given jar),
driving hey (Debian's load generator) and reading its summary, and describing the machine."""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNV3 = os.path.join(ROOT, "mnv3")


def say(msg):
    print("[serve-bench] " + msg, file=sys.stderr, flush=True)


def require_hey():
    if not shutil.which("hey"):
        sys.exit("hey is not installed: run tools/serve-test-clients.sh (or apt-get install hey)")


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def metric_values(base, prefix):
    """Every sample line of /metrics that starts with prefix, as {line's name and labels: value}."""
    _, text = http_get(base + "/metrics", timeout=30)
    out = {}
    for line in text.splitlines():
        if line.startswith(prefix):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def java25():
    for d in [os.environ.get("JAVA_HOME", "")] + sorted(glob.glob("/usr/lib/jvm/*25*")):
        if d and os.access(os.path.join(d, "bin", "java"), os.X_OK):
            return os.path.join(d, "bin", "java")
    sys.exit("no JDK 25 found: set JAVA_HOME")


def mnv3_command(jar=None):
    """./mnv3 (built on first use), or `java -jar JAR` with the options ./mnv3 gives the JVM (a build kept for comparison)."""
    if not jar:
        return [MNV3]
    opts = os.environ.get("MNV3_JAVA_OPTS", "").split()
    return [java25()] + opts + ["--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-jar", jar]


class Server:
    """`mnv3 serve` on loopback at port (REST), port + 1 (gRPC) and port + 2 (the probe port), ready when the constructor returns."""

    def __init__(self, command, serve_args, port, log, env=None):
        cmd = command + ["serve", "--host", "127.0.0.1", "--http-port", str(port), "--grpc-port", str(port + 1),
                         "--probe-port", str(port + 2)] + serve_args
        self.base = "http://127.0.0.1:%d" % port
        self.log_path = log
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit("serve exited with %s; see %s" % (self.proc.returncode, log))
            try:
                if http_get(self.base + "/v2/health/ready")[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        sys.exit("serve did not become ready; see " + log)

    def stop(self):
        """SIGTERM, as a supervisor stops it; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code


def hey(url, body, clients, content_type="application/octet-stream", headers=(), seconds=None, requests=None, timeout=20, cpus=None):
    """hey POSTing body (a file) for seconds or requests (on the processors cpus, e.g. "1", if given); its answers by status,
    errors by message, rate and percentiles (ms)."""
    cmd = (["taskset", "-c", cpus] if cpus else []) + ["hey", "-c", str(clients), "-t", str(timeout), "-m", "POST", "-T", content_type, "-D", body]
    cmd += ["-z", "%gs" % seconds] if seconds else ["-n", str(requests)]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    codes = dict((c, int(n)) for c, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    errors = {}
    if "Error distribution:" in out:
        for n, what in re.findall(r"^\s+\[(\d+)\]\s+(.*)$", out.split("Error distribution:", 1)[1], re.M):
            # the message without the URL and the local port, so that one kind of error counts once
            key = re.sub(r"^Post \"[^\"]*\": ", "", what)
            key = re.sub(r"127\.0\.0\.1:\d+->", "", key)
            errors[key] = errors.get(key, 0) + int(n)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = float(re.search(r"Total:\s+([\d.]+) secs", out).group(1))
    pct = dict((p, float(s) * 1000) for p, s in re.findall(r"\s(\d+)% in ([\d.]+) secs", out))
    # answers per second counts refusals (429) too; served_rps only the 200s
    return {"rps": rps, "served_rps": codes.get("200", 0) / total, "p50": pct.get("50"), "p99": pct.get("99"), "codes": codes,
            "errors": errors}


def cpu_description():
    model, flags = "?", ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    isa = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
    return "%s, %s, %d processors" % (model, isa, os.cpu_count())
