"""A module that fails when imported: a factory's module runs arbitrary code at import."""

raise ZeroDivisionError("division by zero while importing")
