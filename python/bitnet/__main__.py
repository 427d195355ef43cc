"""``python -m bitnet ...`` runs the bitnet command-line tool."""

from .cli import console_main

if __name__ == "__main__":
    console_main()
