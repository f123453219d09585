"""The operator console: server-rendered pages (Jinja2 through aiohttp-jinja2) served at
``/`` of the engine's HTTP endpoint, next to the admin API at ``/api``.

Pages are declared once in a routes table with the permission they need (``web.py``);
handlers are thin: they read through the same store functions as the API (with the
principal's reach in the SQL) and write through the same change path
(``store.config_edit.change_number``), so the console can never do what the API refuses.
"""
