"""Pulumi entry point. The program lives in stacks/: see stacks/program.py."""

from stacks.program import program

program()
