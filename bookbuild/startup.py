"""Imported first by the build's processes (the command and each kernel runner) to keep start-up short.

jsonschema, which nbformat imports to validate notebooks, loads the optional IRI checker
``rfc3987_syntax`` when it is installed: about 0.6 s of every process's start-up, for a check
the build never makes. Marking it absent makes jsonschema skip it.
"""
import sys

sys.modules.setdefault('rfc3987_syntax', None)
