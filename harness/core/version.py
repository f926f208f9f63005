"""The harness's version, the one place it lives.

`harness.__version__` hands it on and pyproject.toml reads it from here (without importing the
package); every stage imports it from here, not from the package root, whose API wrappers reach
the stages above.
"""

__version__ = "0.1.0"
