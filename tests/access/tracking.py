"""The public tracking API and the demo website."""

RULES: dict = {}
URL_VALUES: dict = {}
