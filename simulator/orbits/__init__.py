"""Orbits: TLE catalogs, Walker shells, ground stations and contact windows."""
