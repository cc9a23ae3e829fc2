"""The investigator app: an HTTP API and web pages over a workspace (``vendorlink serve``).

A thin shell over the library: :mod:`vendorlink.app.services` calls the library functions,
:mod:`vendorlink.app.api` and :mod:`vendorlink.app.web` present them as JSON and HTML, and
:mod:`vendorlink.app.guard` checks the token and the request size. Needs the ``app`` extra
(FastAPI, uvicorn, Jinja2, python-multipart).

>>> from vendorlink.app.config import AppSettings
>>> from vendorlink.app.server import create_app
>>> app = create_app(AppSettings(workspace="ws"))   # serve with uvicorn
"""
