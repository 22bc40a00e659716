"""Tests of the policy pack, laid out as policies/ is."""
