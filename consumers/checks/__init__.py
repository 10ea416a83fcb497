"""The custody checks ("spot the liar"): pure rules, their facts, the ``checks`` projector and its views."""
