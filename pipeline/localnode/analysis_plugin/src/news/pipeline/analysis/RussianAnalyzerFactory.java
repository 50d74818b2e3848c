package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "russian" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "russian" is
 * missing. Production Elasticsearch backs "russian" with Lucene's {@link RussianAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("russian")
public final class RussianAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public RussianAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new RussianAnalyzer();
    }
}
