"""The bench's ratios are paired by round: each round's ratio is taken under that round's load."""

from __future__ import annotations

from bench.common import Target, fmt_paired, judge, paired


def test_paired_ratios_follow_each_round_not_the_medians() -> None:
    # The machine slows down in round 2 for both clients; gun is 1.2x the peer in every round.
    # The medians come from different rounds (gun's from round 2, the peer's from round 1).
    rounds = [{"gun": 120.0, "peer": 100.0}, {"gun": 60.0, "peer": 50.0}, {"gun": 240.0, "peer": 200.0}]
    medians = {"gun": 120.0, "peer": 100.0}
    assert paired(rounds, "gun", "peer", False) == [1.2, 1.2, 1.2]
    rounds[1]["gun"] = 50.0  # in one round gun only ties
    assert paired(rounds, "gun", "peer", False) == [1.0, 1.2, 1.2]
    assert judge(Target("t", "gun", ("peer",), 1.1), medians, rounds, False).startswith("met (gun is 1.20x peer")
    assert judge(Target("t", "gun", ("peer",), 1.3), medians, rounds, False).startswith("NOT met")


def test_paired_lower_is_better_and_missing_rounds() -> None:
    # Sizes, lower is better: gun at 40 against 80 is 2x better; a round where the peer failed
    # gives no ratio.
    rounds = [{"gun": 40.0, "peer": 80.0}, {"gun": 40.0}, {"gun": 50.0, "peer": 50.0}]
    assert paired(rounds, "gun", "peer", True) == [1.0, 2.0]
    assert fmt_paired(paired(rounds, "gun", "peer", True)) == "1.50x (1.00-2.00)"
    assert fmt_paired([1.234]) == "1.23x"
    assert fmt_paired([]) == "-"
