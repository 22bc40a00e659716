"""Tests of policies/stack/."""
