"""Build hook of the d2l package: its version is `[project] release` of config.ini.

Everything else is declared in pyproject.toml.
"""
import configparser
from pathlib import Path

from setuptools import setup


def release(path=Path(__file__).resolve().parent / 'config.ini'):
    """Return the book's release number from config.ini."""
    config = configparser.ConfigParser()
    if not config.read(path, encoding='utf-8'):
        raise FileNotFoundError(f'{path} is missing; the d2l version is read from it')
    return config['project']['release'].strip()


setup(version=release())
