from . import startup  # noqa: F401  (first: keeps start-up short)
from .cli import main

main()
