"""The Mesa visual server of twinslice (``twinslice viz``): a SolaraViz page of the network."""
