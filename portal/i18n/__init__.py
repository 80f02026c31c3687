"""The portal's languages: which ones, how a request picks one, and compiling the catalogues.

English is the source language; French, Dutch and Thai catalogues live in ``locale/``. Text stored in
the database (log steps, audit entries, quarantine details) stays English and is translated when shown;
the Graph-style API and the workers always speak English.
"""
