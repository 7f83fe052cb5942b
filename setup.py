"""Build hook: a wheel must run on its own (`pip install .`, no scripts), so it carries what the
app reads from the checkout's top level (templates, workflows, migrations, alembic.ini) inside
the package as casetrack/_data/ (config.shipped finds it there), and the compiled translations
(the .mo files are not committed). Project metadata is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("templates", "workflows", "migrations", "alembic.ini")


class BuildWithData(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        package = Path(self.build_lib) / "casetrack"
        for name in SHIPPED:
            source, target = HERE / name, package / "_data" / name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        # Babel itself, not casetrack.i18n: the build has no Flask to import the package with.
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
        source = HERE / "casetrack" / "translations"
        for po in source.glob("*/LC_MESSAGES/messages.po"):
            with po.open("rb") as f:
                catalog = read_po(f, locale=po.parent.parent.name)
            with (package / "translations" / po.relative_to(source)).with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog)


setup(cmdclass={"build_py": BuildWithData})
