"""Stacked time plots of traces: the plot stack, one plot, curves, axes, cursors."""
