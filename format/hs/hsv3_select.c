/* hsv3_select.c - round-robin intro point groups (scheme in hsv3_select.h). */
#include "hsv3_select.h"

#include <stdlib.h>
#include <string.h>

void ob_hsv3_selection_free(ob_hsv3_selection *s)
{
    size_t g;

    if (s == NULL)
        return;
    for (g = 0; g < s->n_groups; g++) {
        free(s->groups[g].intros);
        free(s->groups[g].instance);
    }
    free(s->groups);
    free(s);
}

ob_err ob_hsv3_select(const ob_hsv3_desc *const *inst, size_t n_inst, size_t max_per_desc,
                      size_t max_groups, ob_hsv3_selection **out, ob_diag *d)
{
    const ob_hsv3_intro **flat = NULL;
    size_t *owner = NULL, total = 0, rounds = 0, i, r, k, g, size, used;
    ob_hsv3_selection *s = NULL;
    ob_err err = OB_ERR_NOMEM;

    *out = NULL;
    if (max_per_desc == 0)
        max_per_desc = OB_HSV3_MAX_INTROS;
    if (max_groups == 0)
        max_groups = OB_HSV3_MAX_GROUPS;
    if (max_per_desc > OB_HSV3_MAX_INTROS)
        return ob_fail(d, OB_ERR_RANGE, "at most %d intro points fit a descriptor",
                       OB_HSV3_MAX_INTROS);
    for (i = 0; i < n_inst; i++) {
        if (inst[i] == NULL)
            continue;
        total += inst[i]->n_intros; /* each <= 20, so no overflow for sane n_inst */
        if (inst[i]->n_intros > rounds)
            rounds = inst[i]->n_intros;
    }
    if (total == 0)
        return ob_fail(d, OB_ERR_NOTFOUND, "no instance offers an introduction point");
    flat = calloc(total, sizeof(*flat));
    owner = calloc(total, sizeof(*owner));
    s = calloc(1, sizeof(*s));
    if (flat == NULL || owner == NULL || s == NULL)
        goto fail;
    k = 0;
    for (r = 0; r < rounds; r++)
        for (i = 0; i < n_inst; i++)
            if (inst[i] != NULL && r < inst[i]->n_intros) {
                flat[k] = &inst[i]->intros[r];
                owner[k++] = i;
            }
    s->n_offered = total;
    s->n_groups = (total + max_per_desc - 1) / max_per_desc;
    if (s->n_groups > max_groups)
        s->n_groups = max_groups;
    used = total < s->n_groups * max_per_desc ? total : s->n_groups * max_per_desc;
    s->n_used = used;
    size = used < max_per_desc ? used : max_per_desc;
    s->groups = calloc(s->n_groups, sizeof(*s->groups));
    if (s->groups == NULL) {
        s->n_groups = 0;
        goto fail;
    }
    for (g = 0; g < s->n_groups; g++) {
        ob_hsv3_group *grp = &s->groups[g];
        size_t start = g * used / s->n_groups;
        grp->intros = calloc(size, sizeof(*grp->intros));
        grp->instance = calloc(size, sizeof(*grp->instance));
        if (grp->intros == NULL || grp->instance == NULL)
            goto fail;
        for (k = 0; k < size; k++) {
            grp->intros[k] = flat[(start + k) % used];
            grp->instance[k] = owner[(start + k) % used];
        }
        grp->n = size;
    }
    *out = s;
    s = NULL;
    err = OB_OK;
fail:
    if (err != OB_OK)
        ob_fail(d, err, "out of memory selecting intro points");
    free(flat);
    free(owner);
    ob_hsv3_selection_free(s);
    return err;
}

size_t ob_hsv3_group_for_hsdir(size_t replica, size_t position, size_t spread_fetch,
                               size_t n_groups)
{
    if (n_groups <= 1)
        return 0;
    return (replica * spread_fetch + position) % n_groups;
}

const char *ob_hsv3_group_flow_control(const ob_hsv3_selection *s, size_t g,
                                       const ob_hsv3_desc *const *inst)
{
    const char *fc = NULL;
    size_t k;

    if (g >= s->n_groups)
        return NULL;
    for (k = 0; k < s->groups[g].n; k++) {
        const ob_hsv3_desc *de = inst[s->groups[g].instance[k]];
        if (!de->has_flow_control)
            return NULL;
        if (fc == NULL)
            fc = de->flow_control;
        else if (strcmp(fc, de->flow_control) != 0)
            return NULL;
    }
    return fc;
}
