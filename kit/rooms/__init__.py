"""Interview rooms: a presenter seat and a candidate seat around one question list.

``room`` holds the room's state as a plain dict and the pure functions that change it;
``store`` keeps rooms in one SQLite file, shared by every worker of the server.
"""
