# The plugin package is installed by tests/test_plugins.py into a temporary folder and
# imported from there; pytest must not import it from here (--doctest-modules would).
collect_ignore = ["my_plugin.py"]
