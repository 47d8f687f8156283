"""Deep resistive networks trained by equilibrium propagation (``resim train``)."""
