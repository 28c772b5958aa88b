"""Views of the web application, by area. They parse input with forms, call one service or
selector, and render a template; permissions come from the same selectors as the API."""
