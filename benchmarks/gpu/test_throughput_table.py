"""Tests of throughput_table.py on hand-written lines, no GPU needed:
python3 -m unittest discover -s benchmarks/gpu (benchmarks/gpu/pack.sh runs it before building the kit)."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import throughput_table  # noqa: E402


def ours(precision, graphs, batch, ips=None, p50=None, error=None):
    r = {"model": "large", "backend": "cuda", "precision": precision, "cuda_graphs": graphs, "batch": batch,
         "height": 224, "width": 224}
    if error:
        r["error"] = error
    else:
        r.update({"images_per_second": ips, "p50_ms": p50 if p50 is not None else batch * 1000.0 / ips, "p99_ms": 9.0})
    return json.dumps(r)


def peer(name, batch, ips=None, error=None):
    r = {"peer": name, "precision": "fp32" if name == "eager-fp32" else "fp16", "batch": batch,
         "device": "NVIDIA H100 80GB HBM3", "torch": "2.5.1", "model": "large", "size": "224x224"}
    if error:
        r["error"] = error
    else:
        r.update({"images_per_second": ips, "p50_ms": batch * 1000.0 / ips, "p99_ms": 9.0})
    return json.dumps(r)


class ThroughputTableTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def render(self, *files):
        paths = []
        for i, lines in enumerate(files):
            path = os.path.join(self.dir.name, f"{i}.json")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            paths.append(path)
        return throughput_table.render(throughput_table.read_lines(paths))

    @staticmethod
    def row(text, table, batch):
        """The cells of a batch's row in the first (img/s) or second (latency) table."""
        blocks = text.split("\n\n")
        for line in blocks[table].splitlines():
            cells = line.split()
            if cells and cells[0] == str(batch):
                return cells[1:]
        raise AssertionError(f"no row for batch {batch} in:\n{blocks[table]}")

    @staticmethod
    def goal(text, start):
        return next(line.strip() for line in text.splitlines() if line.strip().startswith(start))

    def full(self):
        mnv3 = [ours(p, g, b, ips=1000.0 * b / (0.2 + 0.02 * b)) for g in (True, False)
                for p in ("fp32", "tf32", "fp16", "bf16") for b in (1, 8, 64, 256)]
        mnv3.append(ours("fp16", True, 256, ips=30000.0))  # the later line for a point wins
        torch = [peer("eager-fp32", b, ips=1000.0 * b / (0.9 + 0.05 * b)) for b in (256, 64, 8, 1)]
        torch += [peer("eager-fp16-cl", b, ips=18000.0) for b in (256, 64, 8, 1)]
        torch += [peer("compile-fp16-cl", b, ips=31000.0) for b in (256, 64, 8, 1)]
        return mnv3, torch

    def test_every_point_and_the_goals(self):
        mnv3, torch = self.full()
        text = self.render(["log line: not JSON", "{broken"] + mnv3, torch)
        header = text.splitlines()[2].split()
        self.assertEqual(["batch", "fp32+g", "tf32+g", "fp16+g", "bf16+g", "fp32-g", "tf32-g", "fp16-g", "bf16-g",
                          "eager-fp32", "eager-fp16-cl", "compile-fp16-cl"], header)
        self.assertIn("NVIDIA H100 80GB HBM3", text.splitlines()[0])
        self.assertEqual("30000.0", self.row(text, 0, 256)[2])
        self.assertEqual("18000.0", self.row(text, 0, 256)[9])
        self.assertEqual("0.220", self.row(text, 1, 1)[0])  # p50 ms of fp32+g at batch 1
        self.assertNotIn("-", self.row(text, 0, 8))
        self.assertIn("1.67x  (goal >= 1.5x)  PASS", self.goal(text, "batch 256: mnv3 fp16+g / PyTorch eager-fp16-cl"))
        self.assertIn("0.97x  (goal >= 1.0x)  MISS", self.goal(text, "batch 256: mnv3 fp16+g / PyTorch compile-fp16-cl"))
        self.assertIn("0.220 ms (fp32;", self.goal(text, "batch   1: mnv3 latency p50"))
        self.assertTrue(self.goal(text, "batch   1: mnv3 latency p50").endswith("PASS"))
        for b in (1, 8, 64, 256):
            self.assertTrue(self.goal(text, f"batch {b:>3}: mnv3 fp32+g / PyTorch eager-fp32").endswith("PASS"), text)
        self.assertNotIn("failed or skipped", text)

    def test_missing_points_are_dashes_and_their_goals_miss(self):
        mnv3, torch = self.full()
        mnv3 = [l for l in mnv3 if '"batch": 256' not in l]
        torch = [l for l in torch if "compile" not in l]
        text = self.render(mnv3, torch)
        cells = self.row(text, 0, 256)
        self.assertEqual(["-"] * 8, cells[:8])
        self.assertEqual("-", cells[10])
        self.assertEqual("-", self.row(text, 0, 1)[10])
        self.assertIn("MISS (not measured: mnv3 fp16+g and PyTorch compile-fp16-cl)",
                      self.goal(text, "batch 256: mnv3 fp16+g / PyTorch compile-fp16-cl"))
        self.assertIn("MISS (not measured: mnv3 fp32+g)", self.goal(text, "batch 256: mnv3 fp32+g / PyTorch eager-fp32"))
        self.assertTrue(self.goal(text, "batch  64: mnv3 fp32+g / PyTorch eager-fp32").endswith("PASS"))

    def test_errors_are_listed_below_the_table_once_per_message(self):
        mnv3, torch = self.full()
        mnv3 = [l for l in mnv3 if '"bf16"' not in l]
        mnv3 += [ours("bf16", g, b, error="cuda runs fp32, tf32 and fp16; bf16 needs sm_80") for g in (True, False)
                 for b in (1, 8, 64, 256)]
        torch = [l for l in torch if not ("compile" in l and '"batch": 1,' in l)]
        torch.append(peer("compile-fp16-cl", 1, error="skipped: 12 s left of --deadline 150, ~63 s needed"))
        text = self.render(mnv3, torch)
        self.assertEqual("-", self.row(text, 0, 64)[3])
        self.assertEqual("-", self.row(text, 0, 1)[10])
        errors = text.split("failed or skipped points (9):\n")[1].splitlines()
        self.assertEqual(["  mnv3 bf16+g batch 1, 8, 64, 256: cuda runs fp32, tf32 and fp16; bf16 needs sm_80",
                          "  mnv3 bf16-g batch 1, 8, 64, 256: cuda runs fp32, tf32 and fp16; bf16 needs sm_80",
                          "  PyTorch compile-fp16-cl batch 1: skipped: 12 s left of --deadline 150, ~63 s needed"], errors)

    def test_a_peer_that_failed_as_a_whole_and_no_results(self):
        text = self.render([], [json.dumps({"peer": "compile-fp16-cl", "precision": "fp16",
                                            "error": "torch.compile needs torch >= 2, this is 1.13.0"})])
        self.assertIn("  PyTorch compile-fp16-cl: torch.compile needs torch >= 2, this is 1.13.0", text)
        text = self.render([json.dumps({"source": "torch_bench.py", "error": "timed out after 130s"})])
        self.assertIn("failed or skipped points (1):\n  torch_bench.py: timed out after 130s", text)
        self.assertEqual(["-"] * 11, self.row(text, 0, 1))
        self.assertIn("MISS (not measured: no mnv3 batch-1 point with CUDA graphs)", text)

    def test_concurrent_clients_get_their_own_column(self):
        mnv3, torch = self.full()
        many = json.loads(ours("fp16", True, 64, ips=50000.0))
        many["clients"] = 4
        text = self.render(mnv3 + [json.dumps(many)], torch)
        self.assertTrue(text.splitlines()[2].rstrip().endswith("fp16+g x4"), text.splitlines()[2])
        self.assertEqual("50000.0", self.row(text, 0, 64)[-1])
        self.assertEqual("-", self.row(text, 0, 1)[-1])
        self.assertNotEqual("50000.0", self.row(text, 0, 64)[2], "the one-client fp16+g point is not overwritten")

    def test_the_driver_only_column_and_its_goal(self):
        mnv3, torch = self.full()
        drv = []
        for b in (1, 8, 64, 256):
            r = json.loads(ours("fp16", True, b, ips=31000.0 if b == 256 else 900.0 * b))
            r["cudnn"] = False
            drv.append(json.dumps(r))
        with_cudnn = [json.dumps(dict(json.loads(l), cudnn=True)) for l in mnv3]
        text = self.render(with_cudnn + drv, torch)
        self.assertTrue(text.splitlines()[2].rstrip().endswith("fp16+g drv"), text.splitlines()[2])
        self.assertEqual("31000.0", self.row(text, 0, 256)[-1])
        self.assertEqual("30000.0", self.row(text, 0, 256)[2], "the cuDNN column keeps its own point")
        self.assertIn("1.03x  (goal >= 1.0x)  PASS", self.goal(text, "batch 256: mnv3 fp16+g drv / mnv3 fp16+g"))
        self.assertIn("MISS (not measured: mnv3 fp16+g drv)",
                      self.goal(self.render(mnv3, torch), "batch 256: mnv3 fp16+g drv / mnv3 fp16+g"))

    def test_nothing_at_all(self):
        text = throughput_table.render(throughput_table.read_lines([os.path.join(self.dir.name, "missing.json")]))
        self.assertTrue(text.endswith("(no measurements)"), text)
        self.assertEqual(8, sum(1 for line in text.splitlines() if line.endswith(")") and "MISS (not measured" in line))


if __name__ == "__main__":
    unittest.main()
