"""Tests of device-check.sh's own machinery, without a GPU, a kit or torch: the plan fits the
device budget, a machine without a driver stops at the first step (driver) with a summary.json
that says why, one with a driver but no usable GPU stops at the gpu step, a CUDA graph capture
that failed in the log fails the check, and a step past its limit is killed whole (even a process
that left its process group). The device machine returns at most eight files from $OUT.

Run with: python3 -m unittest discover -s benchmarks/gpu
"""
import json
import os
import pathlib
import re
import stat
import subprocess
import tempfile
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCRIPT = HERE / "device-check.sh"
STEPS = ["driver", "kit", "python", "gpu", "kernels", "cudnn", "reference", "network", "crosscheck", "parity", "memcheck",
         "bench", "torch"]

FAKE_JAVA = """#!/bin/sh
# a kit's java: Java 25 that finds no driver, as CudaInfo says it on a machine without one; with
# FAKE_DRIVER_OK the driver is there (CudaInfo --driver passes) but the GPU cannot be opened
case "$*" in
  *-version*) echo 'openjdk version "25.0.1" 2025-10-21' >&2 ;;
  *"CudaInfo --driver"*)
      if [ -n "$FAKE_DRIVER_OK" ]; then
          echo "NVIDIA driver 580.65.06, CUDA 13.0 (/usr/lib/x86_64-linux-gnu/libcuda.so.1)"
          echo "1 GPU:"; echo "  0: NVIDIA H100 80GB HBM3, compute capability 9.0 (sm_90), 132 SMs, 81559 MiB"; exit 0
      fi
      echo "CUDA backend unavailable: the NVIDIA driver library: libcuda.so.1 was not found; looked in:"
      echo "  - /usr/lib/x86_64-linux-gnu (system library directory)"; exit 2 ;;
  *CudaInfo*) echo "NVIDIA driver 580.65.06, CUDA 13.0 (/usr/lib/x86_64-linux-gnu/libcuda.so.1)"
              if [ -n "$FAKE_GPU_OK" ]; then echo "CUDA backend available: NVIDIA H100 80GB HBM3 (device 0, sm_90)"; exit 0; fi
              echo "CUDA backend unavailable: cuModuleLoadData failed: CUDA_ERROR_NO_BINARY_FOR_GPU (209)"; exit 2 ;;
  *junit*) [ -n "$FAKE_CAPTURE_FAILS" ] && echo "WARNING: CUDA graph capture failed, running without graphs: (901)"
           while [ $# -gt 0 ]; do  # the console launcher writes one XML report per engine where asked to
               [ "$1" = --reports-dir ] && mkdir -p "$2" && for e in jupiter vintage platform-suite; do : > "$2/TEST-junit-$e.xml"; done
               shift
           done
           echo "[         3 tests successful      ]"; exit 0 ;;
esac
"""

# a python with torch as far as the check asks; FAKE_PYTHON_SLEEP makes the import check hang, after
# starting a process in a session of its own (out of the step's process group) and noting its pid
FAKE_PYTHON = """#!/bin/sh
case "$*" in
  *"import torch, torchvision"*)
      if [ -n "$FAKE_PYTHON_SLEEP" ]; then
          setsid sleep 120 < /dev/null > /dev/null 2>&1 &
          echo $! > "$FAKE_PYTHON_SLEEP"
          sleep 120
      fi ;;
  *torch.__file__*) echo /nonexistent/site-packages
                    echo "python 3 torch fake torchvision fake cuda None cudnn None gpu False" ;;
esac
"""


def executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


class DeviceCheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = pathlib.Path(self.tmp.name)
        kit = self.dir / "kit"
        for d in ("jdk/bin", "lib", "test"):
            (kit / d).mkdir(parents=True)
        executable(kit / "jdk/bin/java", FAKE_JAVA)
        for f in ("mnv3.jar", "lib/mnv3-cuda-0.1.jar",
                  "lib/junit-platform-console-standalone-1.jar", "test/mnv3-cuda-0.1-tests.jar"):
            (kit / f).write_bytes(b"")
        executable(self.dir / "python3", FAKE_PYTHON)
        self.out = self.dir / "out"
        self.env = dict(os.environ, MNV3_KIT=str(kit), OUT=str(self.out), MNV3_CHECK_WORK=str(self.dir / "work"),
                        MNV3_PYTHON=str(self.dir / "python3"))

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, *args, **env):
        return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, env=dict(self.env, **env), capture_output=True,
                              text=True, timeout=120)

    def summary(self):
        return json.loads((self.out / "summary.json").read_text())

    def test_the_plan_lists_every_step_in_order_within_400_seconds(self):
        # 15 minutes of device time: a machine start, this plan, a second start and a targeted rerun
        r = self.check("--plan")
        self.assertEqual(0, r.returncode, r.stderr)
        rows = re.findall(r"^(\w+)\s+(\d+)s", r.stdout, re.M)
        self.assertEqual(STEPS, [name for name, _ in rows[:-1]])
        self.assertEqual("total", rows[-1][0])
        self.assertEqual(sum(int(s) for _, s in rows[:-1]), int(rows[-1][1]))
        self.assertLessEqual(int(rows[-1][1]), 400)

    def test_bad_arguments_are_refused(self):
        self.assertEqual(2, self.check("--only", "nothing").returncode)
        self.assertEqual(2, self.check("--frobnicate").returncode)
        self.assertEqual(2, self.check("--plan", MNV3_LIMITS="bench=x").returncode)

    def test_without_a_driver_it_stops_at_the_first_step_and_says_why(self):
        r = self.check()
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        s = self.summary()
        status = {step["name"]: step["status"] for step in s["steps"]}
        self.assertEqual({"driver": "FAIL", **{n: "SKIP" for n in STEPS[1:]}}, status)
        self.assertIn("libcuda.so.1 was not found", s["stopped"])
        driver = next(step for step in s["steps"] if step["name"] == "driver")
        self.assertIn("libcuda.so.1 was not found", driver["figures"]["problem"])
        self.assertIn("NO DRIVER FOR OUR KERNELS", (self.out / "device-check.log").read_text())
        self.assertIn("0 passed, 1 failed, 12 skipped", (self.out / "summary.txt").read_text())
        self.assertLessEqual(len([f for f in self.out.rglob("*") if f.is_file()]), 8, "the device machine returns 8 files")

    def test_with_a_driver_but_no_usable_gpu_it_stops_at_the_gpu_step(self):
        r = self.check(FAKE_DRIVER_OK="1")
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        s = self.summary()
        status = {step["name"]: step["status"] for step in s["steps"]}
        self.assertEqual({"driver": "PASS", "kit": "PASS", "python": "PASS", "gpu": "FAIL", **{n: "SKIP" for n in STEPS[4:]}},
                         status)
        self.assertIn("NO_BINARY_FOR_GPU", s["stopped"])
        driver = next(step for step in s["steps"] if step["name"] == "driver")
        self.assertIn("CUDA 13.0", driver["figures"]["driver"])
        log = (self.out / "device-check.log").read_text()
        self.assertLess(log.index("compute capability 9.0"), log.index("== kit"), "the driver and the card come first")

    def test_a_capture_failure_in_the_log_fails_the_check_even_when_every_step_passes(self):
        ok = dict(FAKE_DRIVER_OK="1", FAKE_GPU_OK="1")
        r = self.check("--only", "kernels", **ok)
        self.assertEqual(0, r.returncode, r.stdout + r.stderr)
        self.assertEqual("PASS", self.summary()["steps"][-1]["status"])
        out = sorted(str(f.relative_to(self.out)) for f in self.out.rglob("*") if f.is_file())
        self.assertEqual(["device-check.log", "summary.json", "summary.txt"], out, "the device machine returns at most eight files")
        r = self.check("--only", "kernels", FAKE_CAPTURE_FAILS="1", **ok)
        self.assertEqual(1, r.returncode, r.stdout + r.stderr)
        steps = {step["name"]: step for step in self.summary()["steps"]}
        self.assertEqual("PASS", steps["kernels"]["status"])
        self.assertEqual("FAIL", steps["graphs"]["status"])
        self.assertIn("1 log lines say a CUDA graph capture failed", steps["graphs"]["note"])

    def test_a_step_past_its_limit_is_killed_with_what_it_started(self):
        pid_file = self.dir / "escaped.pid"
        t0 = time.monotonic()
        r = self.check("--only", "bench", MNV3_LIMITS="python=2", FAKE_PYTHON_SLEEP=str(pid_file), FAKE_DRIVER_OK="1")
        took = time.monotonic() - t0
        self.assertLess(took, 30, "the hanging step was not cut off at its limit")
        s = self.summary()
        python = next(step for step in s["steps"] if step["name"] == "python")
        self.assertEqual("FAIL", python["status"])
        self.assertEqual("killed at its 2s limit", python["note"])
        escaped = int(pid_file.read_text())
        time.sleep(0.5)
        alive = pathlib.Path(f"/proc/{escaped}").exists() and "zombie" not in pathlib.Path(
            f"/proc/{escaped}/status").read_text().lower()
        self.assertFalse(alive, f"process {escaped}, started by the step in a session of its own, outlived it")
        self.assertEqual(["driver", "kit", "python", "gpu", "bench"], [step["name"] for step in s["steps"]])


if __name__ == "__main__":
    unittest.main()
