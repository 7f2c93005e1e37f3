# tests/interop/v2 holds the suite of the v2-era client (sliderule 4.20.0), which runs in a venv
# of its own (scripts/lib/setup.sh, ensure_python_v2_tools): `pytest tests/interop` leaves it out,
# and `pytest tests/interop/v2`, run with that venv, collects it alone.
collect_ignore = ["v2"]
