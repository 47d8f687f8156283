"""A trained ReLU network as a circuit (issue 17): ``resim synth relu`` of a relu-mlp's
model.npz, then the circuit solved with each of the first N Fashion-MNIST test images applied
(its sources vx0..vx783 set to the pixels): does it predict the network's class?

    python bench/synth_mlp.py runs/fashion_relu_1h/model.npz --images 100

Prints the gain and guaranteed bound, then per image the classes of network and circuit,
the largest output difference, and the seconds per solve (in-process, ``resim.solve`` on
the netlist read once); at the end how many of N agree.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

import numpy as np  # noqa: E402

import resim  # noqa: E402
from resim import synth  # noqa: E402
from resim.drn import data as data_mod  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--gain", type=float)
    ap.add_argument("--data-dir")
    a = ap.parse_args()
    print(machine())
    net = synth.load_relu(a.model)
    data = data_mod.load("fashion-mnist", a.data_dir, 1, a.images)
    gain = a.gain or synth.default_gain(net, 0.0, 1.0)
    print(f"{'-'.join(map(str, net.sizes))} ReLU network, gain {gain:g}, guaranteed error "
          f"{synth.error_bound(net, gain, 0.0, 1.0):.3g} on [0, 1]^{net.sizes[0]}")
    t0 = time.perf_counter()
    circuit = resim.load_netlist(synth.to_netlist(net, gain, os.path.basename(a.model)))
    print(f"netlist written and read in {time.perf_counter() - t0:.1f} s")
    sources = [circuit.find_element(f"vx{i}") for i in range(net.sizes[0])]
    want = net(data.test_x)
    agree, worst, times = 0, 0.0, []
    for k, x in enumerate(data.test_x):
        t0 = time.perf_counter()
        result = resim.solve(circuit.with_element_values({s: float(v) for s, v in zip(sources, x)}))
        times.append(time.perf_counter() - t0)
        got = np.array([result.voltage(f"y{j}") for j in range(net.sizes[-1])])
        same = int(np.argmax(got)) == int(np.argmax(want[k]))
        agree += same
        worst = max(worst, float(np.max(np.abs(got - want[k]))))
        print(f"image {k}: network {int(np.argmax(want[k]))}, circuit {int(np.argmax(got))}"
              f"{'' if same else '  DIFFERENT'}, max |dy| {np.max(np.abs(got - want[k])):.2e}, {times[-1]:.2f} s")
    print(f"{agree} of {len(data.test_x)} test images: the circuit predicts the network's class; "
          f"largest output difference {worst:.3g}; median {np.median(times):.2f} s per solve")


if __name__ == "__main__":
    main()
