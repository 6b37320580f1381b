import sys

# jsonschema, which nbformat imports to validate notebooks, loads this optional IRI checker when it
# is installed: about 0.6 s of every command's start-up, for a check the build never makes.
sys.modules.setdefault('rfc3987_syntax', None)

from .cli import main  # noqa: E402

main()
