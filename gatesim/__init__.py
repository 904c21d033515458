"""gatesim: settings, database, application and command line of the simulator."""
