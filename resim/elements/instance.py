"""X: a subcircuit instance, expanded into its elements before anything else sees it
(resim.netlist.elaborate); the grammar reads its card whole."""

from .kind import ElementKind

KIND = ElementKind("x", "instance", "subcircuit instance", None, None,
                   "write: Xname node... subckt_name [name=value ...]", in_circuit=False)
