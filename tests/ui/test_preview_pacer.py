"""The preview pacer: a quiet pane is captured less and less often, a changing one every tick."""

from __future__ import annotations

from sessiontui.ui.preview import PreviewPacer


def captures(pacer: PreviewPacer, texts: dict[float, str], *, until: float, busy=False):
    """Tick every second until ``until``; return the times a capture was due."""
    taken = []
    text = "same"
    t = 0.0
    while t <= until:
        text = texts.get(t, text)
        if pacer.due(("key", "idle"), t, busy=busy):
            taken.append(t)
            pacer.captured(text, t)
        t += 1.0
    return taken


def test_a_quiet_pane_backs_off_to_the_longest_wait():
    pacer = PreviewPacer(base_s=5.0, max_s=30.0)
    assert captures(pacer, {}, until=120) == [0, 5, 15, 35, 65, 95]


def test_a_changed_text_goes_back_to_the_shortest_wait():
    pacer = PreviewPacer(base_s=5.0, max_s=30.0)
    taken = captures(pacer, {40.0: "new"}, until=80)
    assert taken == [0, 5, 15, 35, 65, 70, 80]  # seen at the next due capture
    pacer = PreviewPacer(base_s=5.0, max_s=30.0)
    taken = captures(pacer, {35.0: "new"}, until=60)
    assert taken == [0, 5, 15, 35, 40, 50]  # 35 saw the change: 5 s, then 10 s again


def test_busy_agents_and_new_selections_are_captured_at_once():
    pacer = PreviewPacer(base_s=5.0, max_s=30.0)
    assert pacer.due(("a", "idle"), 0.0, busy=False)
    pacer.captured("x", 0.0)
    assert not pacer.due(("a", "idle"), 1.0, busy=False)
    assert pacer.due(("b", "idle"), 1.0, busy=False)  # another session
    pacer.captured("y", 1.0)
    assert pacer.due(("b", "busy"), 2.0, busy=True)  # its status changed; busy: every tick
    assert pacer.due(("b", "busy"), 3.0, busy=True)
