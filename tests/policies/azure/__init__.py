"""Tests of policies/azure/."""
