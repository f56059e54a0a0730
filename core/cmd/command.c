/* Placeholder: filled by its issue work. */
