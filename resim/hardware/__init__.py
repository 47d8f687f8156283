"""A trained network as the hardware that would build it (docs/hardware.md).

:mod:`.profile` reads a hardware profile (a TOML file: the scales, the conductance window,
levels, variation and noise, the diode model, the crossbar's wires); :mod:`.devices` draws
one instance of the devices for a network (pure functions over numpy arrays); :mod:`.netlist`
writes the physical netlist, plain or laid out as crossbars.
"""
