"""The d2l library: reusable code from the book, importable as ``from d2l import mxnet as d2l``."""
__version__ = '0.1.0'
