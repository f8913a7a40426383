"""The model the structured-output recordings and fixtures answer: recordings/*/structured*."""

from __future__ import annotations

from pydantic import BaseModel


class Ingredient(BaseModel):
    name: str
    grams: int


class Recipe(BaseModel):
    """A recipe with its ingredients and steps."""

    title: str
    servings: int = 2
    vegetarian: bool
    ingredients: list[Ingredient]
    steps: list[str]
    notes: str | None = None


#: The answer every structured recording streams (recordings/*/structured.*), as a model.
RECIPE = Recipe(
    title="Tomato soup",
    servings=4,
    vegetarian=True,
    ingredients=[Ingredient(name="tomatoes", grams=800), Ingredient(name="onion", grams=150)],
    steps=["Chop the onion.", "Simmer everything for 20 minutes.", "Blend until smooth."],
)
