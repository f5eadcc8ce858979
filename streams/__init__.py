"""kohta's streaming side: the Faust app, its topics, codecs, agents and metrics."""
