"""The flood proof prints its side-by-side table at the end of the run, above
pytest's summary line (which stays the last line printed)."""


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = getattr(config, "flood_report", None)
    if report:
        path, text = report
        terminalreporter.section("flood proof: rampart-dnsbl and rbldnsd")
        terminalreporter.write(text)
        terminalreporter.write_line(f"(written to {path})")
