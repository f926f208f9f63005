"""The hostile corpus: table-driven cases of what a hostile user, a hostile results folder or a
hostile model can hand the harness, each with the outcome it must get (exit code, the one line,
the files that must survive). docs/reliability.md lists the classes and how many cases pass."""
