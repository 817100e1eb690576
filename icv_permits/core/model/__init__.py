"""The application model and identifier validation.

Submodules are imported where they are used (``icv_permits.core.model.application``…); importing this
package alone loads nothing heavy, so light users such as the masking helpers of ``model.ids`` stay
cheap to import."""

__all__ = ["SCHEMA_VERSION", "Activity", "Application"]


def __getattr__(name: str):
    if name in __all__:
        from icv_permits.core.model import application

        return getattr(application, name)
    raise AttributeError(name)
