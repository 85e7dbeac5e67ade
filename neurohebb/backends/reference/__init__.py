"""The reference CPU simulator: the executable specification of the IR."""
