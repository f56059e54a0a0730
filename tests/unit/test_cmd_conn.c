/* Placeholder: this family's tests land with its implementation. */
#include <criterion/criterion.h>
