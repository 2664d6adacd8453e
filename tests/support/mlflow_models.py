"""Real MLflow models for the tests, saved by mlflow-skinny in a subprocess (mlflow's import takes
seconds and sets process-wide state; the test process stays clean).

- ``sklearn``: a scikit-learn LinearRegression over the columns age, bmi, bp, with a signature
  and an input example; its requirements pin what is installed here (``mlflow==V`` as mlflow
  writes it), so the platform's own interpreter satisfies them and no venv is built.
- ``custom``: a custom pyfunc (``PythonModel``) without a signature: ``2 × row sum``.
- ``relax``: the custom pyfunc with ``numpy==1.21.6`` pinned, a release with no wheel for this
  interpreter: it needs ``SWITCHMAN_RELAX_PINS``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

OLD_NUMPY = "numpy==1.21.6"

_BUILD = textwrap.dedent(
    """
    import sys
    from importlib.metadata import version
    from pathlib import Path

    import mlflow.pyfunc
    import mlflow.sklearn
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    root = Path(sys.argv[1])
    pins = [f"mlflow=={version('mlflow-skinny')}", f"cloudpickle=={version('cloudpickle')}",
            f"pandas=={version('pandas')}"]

    X = pd.DataFrame({"age": [0.1, 0.2, 0.3, 0.4], "bmi": [0.5, 0.1, 0.2, 0.3],
                      "bp": [0.3, 0.3, 0.1, 0.2]})
    y = 10 * X["age"] + 20 * X["bmi"] - 5 * X["bp"] + 1
    model = LinearRegression().fit(X, y)
    mlflow.sklearn.save_model(
        model, str(root / "sklearn"), serialization_format="cloudpickle",
        signature=infer_signature(X, model.predict(X)), input_example=X.head(2),
        pip_requirements=[*pins, f"scikit-learn=={version('scikit-learn')}"])

    class Doubler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return (np.asarray(model_input, dtype=float).sum(axis=1) * 2).tolist()

    mlflow.pyfunc.save_model(str(root / "custom"), python_model=Doubler(), pip_requirements=pins)
    mlflow.pyfunc.save_model(str(root / "relax"), python_model=Doubler(),
                             pip_requirements=[*pins, sys.argv[2]])
    """
)


def shared_models(tmp_path_factory: Any) -> dict[str, Path]:
    """The models of this test session, built once whichever test module asks first."""
    root = tmp_path_factory.getbasetemp() / "mlflow-models"
    names = ("sklearn", "custom", "relax")
    if all((root / name / "MLmodel").is_file() for name in names):
        return {name: root / name for name in names}
    return build_models(root)


def build_models(root: Path) -> dict[str, Path]:
    """Save the three models under ``root``; returns name → model folder."""
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, str(root), OLD_NUMPY],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {name: root / name for name in ("sklearn", "custom", "relax")}
